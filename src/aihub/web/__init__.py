"""The browser app: serving its build (``dist/``) and the offline API docs."""

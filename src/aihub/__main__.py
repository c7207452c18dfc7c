from aihub.cli import main

main()

export { ReauthDialog } from "./ReauthDialog";
export { register, signIn } from "./signIn";
export { type User, useAuth } from "./useAuth";

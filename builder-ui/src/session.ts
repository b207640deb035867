// The signed-in user and sign-out, for any page that needs them.
import { createContext, useContext } from 'react';
import type * as api from './api';

/** Session is who is signed in and how they leave. */
export interface Session {
  user: api.User;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

/** useSession returns the session; pages render only inside the signed-in shell. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in shell');
  return s;
}

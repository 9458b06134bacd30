// The one API client of the page (tokens, refresh) shared by every action.
import { Client } from './api';

export const client = new Client();

/** Ids of connections, accounts and users: safe inside keys (no `#`), URLs and logs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

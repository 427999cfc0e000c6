// A module without any ZapStrategy export.
export const answer = 42;

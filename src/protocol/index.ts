export * from './canonical.ts';
export * from './keys.ts';
export * from './signing.ts';
export * from './policy.ts';
export * from './auth.ts';
export * from './messages.ts';

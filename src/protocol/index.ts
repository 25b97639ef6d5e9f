export * from './canonical.ts';
export * from './keys.ts';
export * from './primitives.ts';
export * from './policy.ts';
export * from './signing.ts';
export * from './auth.ts';
export * from './messages.ts';

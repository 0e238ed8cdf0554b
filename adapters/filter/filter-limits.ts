/**
 * The limits of `--where` and `--domains`, named once, units last. Each bounds what a user's
 * text can make the worker hold or walk; past one, the run stops with exit 2 before any work.
 */

/**
 * Characters of a `--where` expression: room for an IN list of 100,000 URLs of 40 characters;
 * a longer list of domains belongs in `--domains`.
 */
export const whereTextMaxChars = 4 * 1024 * 1024;

/**
 * Operators (AND, OR, comparisons, arithmetic) outside quotes in a `--where` expression. A
 * chain of them nests one level an operator, and the parser's WASM build runs out of stack
 * (and is left unusable) near 800; 500 is safely below. A long OR of values is an IN list,
 * which has no such bound.
 */
export const whereOperatorsMax = 500;

/**
 * Nesting of a checked `--where` expression: the checker, the compiler and each row's
 * evaluation recurse once a level. Above what the parser lets through (its own limit refuses
 * parentheses nested past 50; AND/OR chains are bounded above), so a bound on the walks only.
 */
export const whereDepthMax = 1_000;

/** Bytes of a `--domains` file: 10,000,000 domains of 30 characters and their line ends. */
export const domainsFileMaxBytes = 512 * 1024 * 1024;

/** Domains in a `--domains` file; each costs a Set entry (about 72 bytes of heap, docs/figures.md) in every CPU thread. */
export const domainsMax = 10_000_000;

/** Characters of one domain: DNS names are at most 253. */
export const domainMaxChars = 253;

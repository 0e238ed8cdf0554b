/**
 * The limits of `--where` and `--domains`, named once, units last. Each bounds what a user's
 * text can make the worker hold or walk; past one, the run stops with exit 2 before any work.
 */

/** Characters of a `--where` expression: far past any written by hand, short of a pasted file. */
export const whereTextMaxChars = 64 * 1024;

/** Nesting of a `--where` expression (parentheses, AND/OR chains): the parser and the compiler recurse once a level. */
export const whereDepthMax = 256;

/** Bytes of a `--domains` file: 10,000,000 domains of 30 characters and their line ends. */
export const domainsFileMaxBytes = 512 * 1024 * 1024;

/** Domains in a `--domains` file; each costs a Set entry (about 72 bytes of heap, docs/figures.md) in every CPU thread. */
export const domainsMax = 10_000_000;

/** Characters of one domain: DNS names are at most 253. */
export const domainMaxChars = 253;

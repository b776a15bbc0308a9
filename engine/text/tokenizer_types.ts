// The tokenizer kinds a config may name; a module of its own so the config
// schema loads without the tokenizers.
export const TOKENIZER_TYPES = ["char", "bpe"] as const;
export type TokenizerType = (typeof TOKENIZER_TYPES)[number];

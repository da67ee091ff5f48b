// Ops of the attention group.
export {};

// Ops of the conv group.
export {};

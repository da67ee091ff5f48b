// Ops of the matmul group.
export {};

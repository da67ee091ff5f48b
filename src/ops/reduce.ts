// Ops of the reduce group.
export {};

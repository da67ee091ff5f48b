// CPU reference kernels for the attention group (registered on import).
export {};

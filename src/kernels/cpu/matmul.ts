// CPU reference kernels for the matmul group (registered on import).
export {};

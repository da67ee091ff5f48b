// WebGPU kernels for the attention group (registered on import).
export {};

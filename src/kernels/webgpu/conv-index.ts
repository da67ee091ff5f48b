// WebGPU kernels for the conv group (registered on import).
export {};

// WebGPU kernels for the reduce group (registered on import).
export {};

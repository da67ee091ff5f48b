#!/usr/bin/env node
// `ahamask <command>`: each command lives in its own module and is loaded only when asked for.
const COMMANDS: Record<string, { file: string; help: string }> = {
  doctor: { file: './doctor.js', help: 'the WebGPU adapter, its features and limits, and a self-test' },
  mask: { file: './mask.js', help: 'mask show <checkpoint.pth> [--json] [--svg out.svg]' },
  tokenize: { file: './tokenize.js', help: 'tokenize --tokenizer <dir> [--json] "text"' },
  evaluate: { file: './evaluate.js', help: 'evaluate -c decode_config.yaml' },
  cli: { file: './interactive.js', help: 'cli -c decode_config.yaml (interactive)' },
  train: { file: './train.js', help: 'train -c config.yaml' },
  pretrain: { file: './pretrain.js', help: 'pretrain -c pretrain.yaml (trains the demo SALMONN from scratch)' },
  'demo-data': { file: './demo-data.js', help: 'demo-data --out DIR --n N --seed S [--format wav|flac]' },
  kernels: { file: './kernels.js', help: 'kernels [--op NAME] [--out DIR] [--json] [--profile software|gpu]' },
  estimate: { file: './estimate.js', help: 'estimate -c config.yaml [--batch-size N] [--json] (memory for fp16, int8, q4)' },
};

function usage(): string {
  return ['usage: ahamask <command> [options]', '', ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(10)} ${v.help}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '-h' || cmd === '--help') {
    console.log(usage());
    return cmd ? 0 : 1;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    console.error(`ahamask: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  let mod: { run(args: string[]): Promise<number> };
  try {
    mod = await import(entry.file);
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(e).includes(entry.file.slice(2, -3))) {
      console.error(`ahamask: command '${cmd}' is not available in this build`);
      return 2;
    }
    throw e;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`ahamask: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.AHAMASK_DEBUG) console.error(e);
    process.exit(1);
  },
);

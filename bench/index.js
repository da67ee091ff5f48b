// `node bench [suite ...] [--json] [--quick]`: runs the TypeScript bench suites through tsx.
import { register } from 'tsx/esm/api';
register();
await import('./main.ts');

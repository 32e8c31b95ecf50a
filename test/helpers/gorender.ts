// The reference Go renderer for tests (test/gorender: the standard library's text/template with
// Warewulf's template functions). Built once per source hash into a cache dir outside the checkout.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cli.ts';

const SRC = join(repoRoot, 'test', 'gorender');

export interface GoFile {
  name: string;
  data: string;
  symlink: boolean;
  target: string;
}
export interface GoResult {
  writeFile: boolean;
  backupFile: boolean;
  files: GoFile[];
}

let built: string | undefined;

/** Path of the built reference renderer (builds it on first use; needs Debian's golang-go). */
export function goRenderer(): string {
  if (built) return built;
  const hash = createHash('sha256')
    .update(readFileSync(join(SRC, 'main.go')))
    .update(readFileSync(join(SRC, 'go.mod')))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `wulf-gorender-${hash}`);
  const bin = join(dir, 'gorender');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}`;
    const r = spawnSync('go', ['build', '-o', tmp, '.'], {
      cwd: SRC,
      encoding: 'utf8',
      env: { ...process.env, GOCACHE: join(dir, 'cache'), GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    });
    if (r.error || r.status !== 0)
      throw new Error(`building test/gorender failed (apt-get install golang-go): ${r.error?.message ?? r.stderr}`);
    renameSync(tmp, bin);
  }
  return (built = bin);
}

/** Render a Go template file with the reference renderer; the whole result (every output file). */
export function renderGoFull(templatePath: string, data: object, opts: { sysconf?: string; images?: string } = {}): GoResult {
  const bin = goRenderer();
  const dir = mkdtempSync(join(tmpdir(), 'wulf-gorender-data-'));
  try {
    const dataPath = join(dir, 'data.json');
    writeFileSync(dataPath, JSON.stringify(data));
    const args = ['-template', templatePath, '-data', dataPath];
    if (opts.sysconf) args.push('-sysconf', opts.sysconf);
    if (opts.images) args.push('-images', opts.images);
    const r = spawnSync(bin, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gorender ${templatePath}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as GoResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Render a Go template file with the reference renderer: the default output file's text. */
export async function renderGo(templatePath: string, data: object, opts: { sysconf?: string; images?: string } = {}): Promise<string> {
  return renderGoFull(templatePath, data, opts).files[0]!.data;
}

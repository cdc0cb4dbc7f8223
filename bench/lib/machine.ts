// What the numbers were measured on: they mean little without it.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './targets.js';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly loadAvgStart: readonly number[];
  loadAvgEnd?: readonly number[];
  readonly memTotalMb: number;
  readonly kernel: string;
  readonly node: string;
  /** The v1 SDK: the bench's 2025-11-25 client and the v1 fixtures. */
  readonly sdk: string;
  /** The v2 SDK packages the gateway runs on (and the bench's 2026-07-28 client). */
  readonly sdkServer: string;
  readonly sdkClient: string;
  readonly serverEverything: string;
  readonly gateway: string;
  readonly commit: string;
}

function versionOf(path: string): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, path, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'main.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${sha} + uncommitted changes in src/` : sha;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function describeMachine(): Machine {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    loadAvgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    memTotalMb: Math.round(totalmem() / 1024 / 1024),
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    sdk: versionOf('node_modules/@modelcontextprotocol/sdk'),
    sdkServer: versionOf('node_modules/@modelcontextprotocol/server'),
    sdkClient: versionOf('node_modules/@modelcontextprotocol/client'),
    serverEverything: versionOf('node_modules/@modelcontextprotocol/server-everything'),
    gateway: versionOf('.'),
    commit: gitCommit(),
  };
}

import { describe, expect, it } from 'vitest';
import { commandLabel, commandQuery, matchCommands, parseOutgoing, splitTriggerWords } from './commands';
import type { CommandInfo } from './types';

const cmd = (name: string, extra: Partial<CommandInfo> = {}): CommandInfo => ({
  name,
  description: '',
  usage_hint: '',
  app_name: 'Deployer',
  ...extra,
});

describe('slash commands in the composer', () => {
  it('reads /name and its text as a command, the name lowercased', () => {
    expect(parseOutgoing('/deploy prod now')).toEqual({ kind: 'command', name: 'deploy', text: 'prod now' });
    expect(parseOutgoing('/Deploy')).toEqual({ kind: 'command', name: 'deploy', text: '' });
    expect(parseOutgoing('/deploy   ')).toEqual({ kind: 'command', name: 'deploy', text: '' });
    expect(parseOutgoing('/run_it-2\nline two\n')).toEqual({ kind: 'command', name: 'run_it-2', text: 'line two' });
    expect(parseOutgoing('/deploy\tprod')).toEqual({ kind: 'command', name: 'deploy', text: 'prod' });
  });

  it('sends anything else as a message, and // as a message starting with one slash', () => {
    expect(parseOutgoing('hello /deploy')).toEqual({ kind: 'message', text: 'hello /deploy' });
    expect(parseOutgoing(' /deploy')).toEqual({ kind: 'message', text: ' /deploy' });
    expect(parseOutgoing('/home/me is full')).toEqual({ kind: 'message', text: '/home/me is full' });
    expect(parseOutgoing('/ deploy')).toEqual({ kind: 'message', text: '/ deploy' });
    expect(parseOutgoing('/')).toEqual({ kind: 'message', text: '/' });
    expect(parseOutgoing('/déployer')).toEqual({ kind: 'message', text: '/déployer' });
    expect(parseOutgoing(`/${'a'.repeat(33)}`)).toEqual({ kind: 'message', text: `/${'a'.repeat(33)}` });
    expect(parseOutgoing(`/${'a'.repeat(32)}`)).toEqual({ kind: 'command', name: 'a'.repeat(32), text: '' });
    expect(parseOutgoing('//deploy prod')).toEqual({ kind: 'message', text: '/deploy prod' });
    expect(parseOutgoing('// a comment')).toEqual({ kind: 'message', text: '/ a comment' });
  });

  it('completes the name while the caret is in it', () => {
    expect(commandQuery('/')).toBe('');
    expect(commandQuery('/dep')).toBe('dep');
    expect(commandQuery('/DEP')).toBe('dep');
    expect(commandQuery('/dep ')).toBeNull();
    expect(commandQuery('/deploy prod')).toBeNull();
    expect(commandQuery('/dep prod', 4)).toBe('dep');
    expect(commandQuery('/deploy prod', 4)).toBeNull();
    expect(commandQuery('/deploy', 4)).toBeNull();
    expect(commandQuery('hi /dep')).toBeNull();
    expect(commandQuery('//dep')).toBeNull();
    expect(commandQuery('/a/b')).toBeNull();
  });

  it('offers names starting with the query first, then names containing it', () => {
    const all = [cmd('redeploy'), cmd('deploy'), cmd('weather'), cmd('dep')];
    expect(matchCommands('dep', all).map((c) => c.name)).toEqual(['dep', 'deploy', 'redeploy']);
    expect(matchCommands('', all).map((c) => c.name)).toEqual(['dep', 'deploy', 'redeploy', 'weather']);
    expect(matchCommands('x', all)).toEqual([]);
    expect(matchCommands('', all, 2)).toHaveLength(2);
  });

  it('labels a command with its usage, description and app', () => {
    expect(commandLabel(cmd('deploy', { usage_hint: '[env]', description: 'Deploys a build' }))).toBe(
      '/deploy [env] — Deploys a build (Deployer)',
    );
    expect(commandLabel(cmd('ping'))).toBe('/ping (Deployer)');
  });

  it('splits trigger words on commas and spaces, once each', () => {
    expect(splitTriggerWords(' deploy, ship  Deploy,,rollback ')).toEqual(['deploy', 'ship', 'rollback']);
    expect(splitTriggerWords('  ')).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { deviceLabel } from './device';

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  headless: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  chromeIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  operaMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0',
  samsung:
    'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  chromeAndroid:
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  chromebook: 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
};

describe('deviceLabel', () => {
  it('names the browser and the system', () => {
    expect(deviceLabel(UA.chromeLinux)).toBe('Chrome on Linux');
    expect(deviceLabel(UA.headless)).toBe('Chrome on Linux');
    expect(deviceLabel(UA.firefoxWindows)).toBe('Firefox on Windows');
    expect(deviceLabel(UA.safariMac)).toBe('Safari on macOS');
    expect(deviceLabel(UA.safariIphone)).toBe('Safari on iOS');
    expect(deviceLabel(UA.chromeIphone)).toBe('Chrome on iOS');
    expect(deviceLabel(UA.edgeWindows)).toBe('Edge on Windows');
    expect(deviceLabel(UA.operaMac)).toBe('Opera on macOS');
    expect(deviceLabel(UA.samsung)).toBe('Samsung Internet on Android');
    expect(deviceLabel(UA.chromeAndroid)).toBe('Chrome on Android');
    expect(deviceLabel(UA.chromebook)).toBe('Chrome on ChromeOS');
  });

  it('names a script or app by its product, and says when nothing is known', () => {
    expect(deviceLabel('curl/8.5.0')).toBe('curl');
    expect(deviceLabel('python-requests/2.31.0')).toBe('python-requests');
    expect(deviceLabel('')).toBe('Unknown device');
    expect(deviceLabel('   ')).toBe('Unknown device');
    expect(deviceLabel('???')).toBe('Unknown device');
  });

  it('gives what it knows when only one half is known', () => {
    expect(deviceLabel('Mozilla/5.0 (X11; Linux x86_64) SomethingNew/1.0')).toBe('Linux');
  });
});

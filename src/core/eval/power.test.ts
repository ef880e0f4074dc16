import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { casesPaired, casesUnpaired, minimumDetectableEffectPaired, powerTableMarkdown } from './power';

const root = path.resolve(__dirname, '../../..');

describe('power', () => {
  it('needs 291 independent cases per variant for 70% vs 80% (hand-computed)', () => {
    // (1.959964 + 0.841621)² = 7.84888; (0.7·0.3 + 0.8·0.2) = 0.37; 7.84888 · 0.37 / 0.1² = 290.4 → 291.
    assert.equal(casesUnpaired(0.7, 0.8), 291);
    // 74% vs 76%: 7.84888 · (0.1924 + 0.1824) / 0.02² = 7354.4 → 7355.
    assert.equal(casesUnpaired(0.74, 0.76), 7355);
  });

  it('needs fewer cases when both variants answer the same cases (McNemar, hand-computed)', () => {
    // ψ = 0.15, Δ = 0.1: (1.959964·√0.15 + 0.841621·√0.14)² / 0.01 = (0.75909 + 0.31491)² / 0.01 = 115.35 → 116.
    assert.equal(casesPaired(0.1, 0.15), 116);
    // ψ = 0.15, Δ = 0.02: (0.75909 + 0.841621·√0.1496)² / 0.0004 = (0.75909 + 0.32552)² / 0.0004 = 2940.97 → 2941.
    assert.equal(casesPaired(0.02, 0.15), 2941);
    assert.ok(casesPaired(0.05, 0.15) < casesUnpaired(0.725, 0.775));
    assert.throws(() => casesPaired(0.2, 0.15), RangeError); // more difference than disagreement is impossible
  });

  it('gives the minimum detectable paired difference as the inverse of casesPaired', () => {
    // ψ = 0.15: casesPaired(0.1, 0.15) = 116 cases (above), so 116 cases detect just under 0.1 and 115 just over.
    const mde = minimumDetectableEffectPaired(116, 0.15);
    assert.ok(mde <= 0.1 && mde > 0.099, String(mde));
    assert.ok(minimumDetectableEffectPaired(115, 0.15) > 0.1);
    assert.equal(casesPaired(mde + 1e-9, 0.15), 116);
    // Fewer cases than z² ≈ 3.84 resolve nothing below 100 points; more cases, smaller effects.
    assert.equal(minimumDetectableEffectPaired(3, 0.5), 1);
    assert.ok(minimumDetectableEffectPaired(1000, 0.3) < minimumDetectableEffectPaired(100, 0.3));
  });

  it('is the table docs/uncertainty.md shows', () => {
    const page = fs.readFileSync(path.join(root, 'docs/uncertainty.md'), 'utf8');
    const table = powerTableMarkdown();
    assert.ok(page.includes(table), `docs/uncertainty.md should contain, verbatim:\n${table}`);
  });
});

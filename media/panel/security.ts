// The summary's "Prompt attacks" matrix (RunResult.security) and "Judge" card (RunResult.judge). Every name
// and text from the prompt or a model is set as text (h() makes text nodes), never parsed as HTML.
import type { AttackRate, JudgeSummary, SecurityResult, UtilityCost } from '../../src/core/security/types';
import { ALPHA, formatP } from '../../src/core/eval/paired';
import { baseVariants, defenceColumns, signedWholePoints, wholePercent } from '../../src/core/security/layout';
import { h, percent } from './dom';

/** Suites the reader opened (variant + suite), kept across the redraws of a live overview. */
const openSuites = new Set<string>();

/** A signed difference in points with a real minus: +7.5, −2.5, 0.0. */
function signedPoints(value: number): string {
  const rounded = Number((value * 100).toFixed(1));
  return `${rounded > 0 ? '+' : rounded < 0 ? '−' : ''}${Math.abs(rounded).toFixed(1)}`;
}

/** What a rate rests on, for its tooltip. */
function describeRate(rate: AttackRate): string {
  const undecided = rate.undecided > 0 ? `; ${rate.undecided} undecided (failed requests, invalid judge verdicts) left out` : '';
  return (
    `${rate.successes} of ${rate.trials} attacked chains the attack worked in (${percent(rate.rate)})${undecided}. ` +
    `95% interval ${percent(rate.low)}–${percent(rate.high)}: Wilson at an effective sample size of ${rate.effectiveTrials.toFixed(1)} ` +
    `(${rate.cases} attacked case${rate.cases === 1 ? '' : 's'}, clustered by attacked case)`
  );
}

/** One cell: the rate and its interval as text over a heat background that deepens with the rate. */
function rateCell(rate: AttackRate | undefined): HTMLElement {
  if (!rate || rate.trials === 0) {
    const why = rate ? `no attacked chain with a decision (${rate.undecided} undecided)` : 'not run';
    return h('td', { class: 'attack-cell', 'data-testid': 'attack-cell', title: why }, '—');
  }
  return h(
    'td',
    {
      class: 'attack-cell',
      'data-testid': 'attack-cell',
      'data-defence': rate.defence,
      'data-rate': rate.rate,
      title: describeRate(rate),
    },
    h('span', { class: 'heat', style: `opacity:${(0.08 + 0.5 * rate.rate).toFixed(3)}` }),
    h('span', { class: 'attack-rate' }, wholePercent(rate.rate)),
    h('span', { class: 'ci' }, `${Math.round(rate.low * 100)}–${Math.round(rate.high * 100)}`),
  );
}

/** The accuracy on the normal cases with a defence: the value, the paired difference with its interval and p. */
function utilityCell(cost: UtilityCost): HTMLElement {
  const paired = cost.paired;
  const significant = paired !== undefined && paired.pValue < ALPHA;
  const direction = !significant ? 'neutral' : paired.difference > 0 ? 'better' : 'worse';
  const title = paired
    ? `${percent(cost.without.value)} → ${percent(cost.with.value)} on the normal cases; paired on ${paired.cases} cases: ` +
      `${paired.aOnly} right only with ${cost.defence}, ${paired.bOnly} only without; 95% paired bootstrap ` +
      `${signedPoints(paired.low)} to ${signedPoints(paired.high)} points; exact McNemar p = ${formatP(paired.pValue)}`
    : `${percent(cost.without.value)} → ${percent(cost.with.value)}; no case answered both with and without the defence`;
  return h(
    'td',
    { class: 'utility-cell', 'data-testid': 'utility-cell', 'data-defence': cost.defence, title },
    h('span', { class: 'attack-rate' }, percent(cost.with.value)),
    paired
      ? h(
          'span',
          { class: `ci ${direction}` },
          `${signedPoints(paired.difference)} pt [${signedWholePoints(paired.low)}, ${signedWholePoints(paired.high)}] p ${formatP(paired.pValue)}`,
        )
      : h('span', { class: 'ci' }, 'not paired'),
  );
}

/** One base variant's matrix: a row per suite (opening to its attacks), all attacks, then accuracy on the normal cases. */
function variantMatrix(security: SecurityResult, variant: string): HTMLElement {
  const attacked = security.overall.some((rate) => rate.variant === variant);
  // Defences without attacks: only what each costs on the normal cases.
  const columns = attacked
    ? defenceColumns(security, variant)
    : ['none', ...security.utility.filter((cost) => cost.variant === variant).map((cost) => cost.defence)];
  const describe = new Map(security.defences.map((defence) => [defence.name, `${defence.type}: ${defence.description}`]));
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Suite / attack'),
    ...columns.map((defence) =>
      h(
        'th',
        { scope: 'col', title: defence === 'none' ? 'without a defence' : describe.get(defence) },
        defence === 'none' ? 'none' : `+${defence}`,
      ),
    ),
  );
  const find = (rates: AttackRate[], defence: string, where: (rate: AttackRate) => boolean): AttackRate | undefined =>
    rates.find((rate) => rate.variant === variant && rate.defence === defence && where(rate));
  const attacks = new Map(security.attacks.map((attack) => [attack.id, attack]));
  const suites = [...new Set(security.suites.filter((rate) => rate.variant === variant).map((rate) => rate.suite ?? ''))];
  const rows: HTMLElement[] = [];
  for (const suite of suites) {
    const key = `${variant}\u0000${suite}`;
    const attackRows = [
      ...new Set(security.matrix.filter((rate) => rate.variant === variant && rate.suite === suite).map((rate) => rate.attack ?? '')),
    ].map((id) => {
      const attack = attacks.get(id);
      const title = attack
        ? [attack.description, `detector: ${attack.detector}`, `into ${attack.into}, at ${attack.position}`, attack.text]
            .filter(Boolean)
            .join('\n')
        : undefined;
      return h(
        'tr',
        { class: 'attack-row', 'data-testid': 'attack-row', 'data-attack': id, hidden: !openSuites.has(key) },
        // Under its suite's row the suite prefix says nothing: the short name, the full id in the tooltip.
        h('th', { scope: 'row', title: title ? `${id}\n${title}` : id }, id.startsWith(`${suite}/`) ? id.slice(suite.length + 1) : id),
        ...columns.map((defence) => rateCell(find(security.matrix, defence, (rate) => rate.attack === id))),
      );
    });
    const toggle = h(
      'button',
      { type: 'button', class: 'link suite-toggle', 'aria-expanded': openSuites.has(key) ? 'true' : 'false', title: 'Show its attacks' },
      suite,
    );
    toggle.addEventListener('click', () => {
      const open = !openSuites.has(key);
      if (open) openSuites.add(key);
      else openSuites.delete(key);
      toggle.setAttribute('aria-expanded', String(open));
      for (const row of attackRows) row.hidden = !open;
    });
    rows.push(
      h(
        'tr',
        { class: 'suite-row', 'data-testid': 'suite-row', 'data-suite': suite },
        h('th', { scope: 'row' }, toggle),
        ...columns.map((defence) => rateCell(find(security.suites, defence, (rate) => rate.suite === suite))),
      ),
      ...attackRows,
    );
  }
  if (attacked)
    rows.push(
      h(
        'tr',
        { class: 'overall-row', 'data-testid': 'overall-row' },
        h('th', { scope: 'row' }, 'All attacks'),
        ...columns.map((defence) => rateCell(find(security.overall, defence, () => true))),
      ),
    );
  const costs = security.utility.filter((cost) => cost.variant === variant);
  if (costs.length > 0) {
    const without = (costs[0] as UtilityCost).without;
    rows.push(
      h(
        'tr',
        { class: 'utility-row', 'data-testid': 'utility-row' },
        h(
          'th',
          { scope: 'row', title: 'Majority-vote accuracy on the cases without an attack: what each defence costs' },
          'Accuracy, normal cases',
        ),
        ...columns.map((defence) => {
          if (defence === 'none')
            return h(
              'td',
              { class: 'utility-cell', title: `95% interval ${percent(without.low)}–${percent(without.high)} over ${without.cases} cases` },
              h('span', { class: 'attack-rate' }, percent(without.value)),
            );
          const cost = costs.find((entry) => entry.defence === defence);
          return cost ? utilityCell(cost) : h('td', {}, '—');
        }),
      ),
    );
  }
  return h(
    'div',
    { class: 'attack-variant' },
    h('h3', { class: 'card-name', title: variant }, variant),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'attack-matrix', 'data-testid': 'attack-matrix', 'data-variant': variant },
        h('thead', {}, head),
        h('tbody', {}, ...rows),
      ),
    ),
  );
}

/**
 * "Prompt attacks": per base variant, attack success by suite (opening to its attacks) against `none` and each
 * defence, with 95% intervals, and each defence's accuracy on the normal cases, paired on cases.
 */
export function securitySection(security: SecurityResult | undefined): HTMLElement[] {
  if (!security || (security.overall.length === 0 && security.utility.length === 0)) return [];
  const variants = baseVariants(security);
  return [
    h(
      'section',
      { class: 'summary security', 'data-testid': 'security' },
      h('h2', {}, 'Prompt attacks'),
      security.attacks.length === 0
        ? h('p', { class: 'interval-note' }, 'No attacks in this run: what each defence costs on the cases.')
        : h(
            'p',
            { class: 'interval-note' },
            `${security.attacks.length} attack${security.attacks.length === 1 ? '' : 's'} into `,
            h('code', {}, security.into),
            '. Each cell: the share of attacked chains the attack worked in (lower is better) and its 95% interval, ',
            'Wilson at the effective sample size, clustered by attacked case. Open a suite for its attacks.',
          ),
      ...variants.map((variant) => variantMatrix(security, variant)),
      security.utility.length > 0
        ? h(
            'p',
            { class: 'interval-note' },
            'Accuracy, normal cases: majority-vote accuracy without attacks; under a defence, the paired difference from ',
            `none on the same cases (95% paired bootstrap) and the exact McNemar p; coloured when p < ${ALPHA}.`,
          )
        : null,
    ),
  ];
}

function kappaText(kappa: number | null): string {
  return kappa === null ? '—' : kappa.toFixed(2);
}

/** "Judge": how the judge model behaved: repeats, invalid verdicts, self-agreement, and agreement with human labels. */
export function judgeSection(judge: JudgeSummary | undefined): HTMLElement[] {
  if (!judge) return [];
  const row = (label: string, value: string, title?: string): HTMLElement[] => [h('dt', {}, label), h('dd', { title }, value)];
  const labels = judge.labels;
  const share = (value: number | null): string => (value === null ? '—' : percent(value));
  const invalid = judge.verdicts > 0 ? ` (${percent(judge.invalidVerdicts / judge.verdicts)})` : '';
  return [
    h(
      'section',
      { class: 'summary judge', 'data-testid': 'judge' },
      h('h2', {}, 'Judge'),
      h(
        'div',
        { class: 'cards' },
        h(
          'article',
          { class: 'card', 'data-testid': 'judge-card' },
          h('h3', { class: 'card-name', title: judge.model }, judge.model),
          h(
            'dl',
            { class: 'card-numbers' },
            ...row('Verdicts per chain', String(judge.repeats)),
            ...row('Chains judged', String(judge.chains)),
            ...row('Invalid verdicts', `${judge.invalidVerdicts} of ${judge.verdicts}${invalid}`, 'verdicts that could not be read'),
            ...(judge.invalidChains > 0
              ? row('No valid verdict', `${judge.invalidChains} chain${judge.invalidChains === 1 ? '' : 's'}`)
              : []),
            ...row(
              'Self-agreement',
              judge.selfAgreement === null ? '—' : percent(judge.selfAgreement),
              judge.selfAgreement === null
                ? 'one verdict per chain: set repeats ≥ 2 to measure it'
                : "share of a chain's verdicts agreeing with its majority, over chains with ≥ 2 valid verdicts",
            ),
            ...row("Fleiss' κ", kappaText(judge.fleissKappa), 'agreement of the repeats beyond chance'),
            ...row(
              'Tokens',
              (judge.promptTokens + judge.completionTokens).toLocaleString('en-US'),
              `${judge.promptTokens.toLocaleString('en-US')} prompt, ${judge.completionTokens.toLocaleString('en-US')} output`,
            ),
          ),
        ),
        labels
          ? h(
              'article',
              { class: 'card', 'data-testid': 'judge-labels' },
              h('h3', { class: 'card-name' }, `Human labels · ${labels.chains} chains`),
              h(
                'dl',
                { class: 'card-numbers' },
                ...row('Agreement', percent(labels.agreement)),
                ...row(
                  "Cohen's κ",
                  kappaText(labels.kappa),
                  labels.kappa === null ? 'one class only on both sides' : 'verdict against label, beyond chance',
                ),
                ...row('TPR', share(labels.truePositiveRate), 'of chains labelled pass, those the judge passed'),
                ...row('FPR', share(labels.falsePositiveRate), 'of chains labelled fail, those the judge passed'),
              ),
              confusionTable(labels.confusion),
            )
          : null,
      ),
    ),
  ];
}

function confusionTable(confusion: NonNullable<JudgeSummary['labels']>['confusion']): HTMLElement {
  return h(
    'table',
    { class: 'confusion', 'data-testid': 'judge-confusion' },
    h('thead', {}, h('tr', {}, h('th', {}, 'judge ╲ label'), h('th', { scope: 'col' }, 'pass'), h('th', { scope: 'col' }, 'fail'))),
    h(
      'tbody',
      {},
      h('tr', {}, h('th', { scope: 'row' }, 'pass'), h('td', {}, confusion.truePositive), h('td', {}, confusion.falsePositive)),
      h('tr', {}, h('th', { scope: 'row' }, 'fail'), h('td', {}, confusion.falseNegative), h('td', {}, confusion.trueNegative)),
    ),
  );
}

// `attacks:` and `defences:` become ordinary variants and cases, so the engine runs, caches, resumes and
// scores them like any other: each defence wraps every variant (`<variant>+<defence>`), each attack makes an
// attacked copy of each attacked case (`<case>~<attack>`) that keeps the clean case's expected answer.
import type { AttackSpec, AttacksConfig, Case, Diagnostic, PromptDocument, Variant, Vars } from '../prompt/types';
import { variableText } from '../prompt/text';
import { closingFence } from './defences';
import { applyAttack, builtInAttacks } from './suites';

/** Every attack of the prompt: the built-in suites' in suite order, then the file's own. */
export function attacksOf(document: Pick<PromptDocument, 'attacks' | 'defences'>): AttackSpec[] {
  const config = document.attacks;
  if (!config) return [];
  const context = {
    into: config.into,
    canary: config.canary,
    target: config.target,
    growth: config.growth,
    // Delimiter escapes close the fences this prompt's defences put around its input.
    closers: [...new Set(document.defences.map(closingFence).filter((closer): closer is string => closer !== undefined))],
  };
  return [...config.suites.flatMap((suite) => builtInAttacks(suite, context)), ...config.custom];
}

export interface Expansion {
  variants: Variant[];
  cases: Case[];
  diagnostics: Diagnostic[];
}

/**
 * The prompt's variants with their defended copies (each base variant followed by its defences), and its cases
 * followed by the attacked copies. Without `attacks:` and `defences:` both lists come back unchanged.
 */
export function expandAttacks(document: PromptDocument, cases: readonly Case[]): Expansion {
  const diagnostics: Diagnostic[] = [];
  const variants: Variant[] = [];
  for (const variant of document.variants) {
    variants.push(variant);
    for (const defence of document.defences)
      variants.push({ ...variant, name: `${variant.name}+${defence.name}`, defence, base: variant.name });
  }
  const config = document.attacks;
  if (!config) return { variants, cases: [...cases], diagnostics };
  const attacked = attackedCases(config, cases, diagnostics);
  const attacks = attacksOf(document);
  const copies: Case[] = [];
  for (const testCase of attacked)
    for (const attack of attacks) copies.push(attackedCopy(testCase, attack, { ...document.inputDefaults, ...testCase.input }));
  return { variants, cases: [...cases, ...copies], diagnostics };
}

function attackedCases(config: AttacksConfig, cases: readonly Case[], diagnostics: Diagnostic[]): readonly Case[] {
  if (!config.cases) return cases;
  const byId = new Map(cases.map((testCase) => [testCase.id, testCase]));
  const chosen: Case[] = [];
  for (const id of config.cases) {
    const testCase = byId.get(id);
    if (testCase) chosen.push(testCase);
    else
      diagnostics.push({
        range: config.range,
        severity: 'error',
        code: 'unknown-case',
        message: `'attacks.cases' names '${id}', which is not a case of this prompt.`,
      });
  }
  return chosen;
}

function attackedCopy(testCase: Case, attack: AttackSpec, vars: Vars): Case {
  // Indirect injection rides in the untrusted variable; direct injection is put into the user turn at render time.
  const input =
    attack.into === 'user' ? testCase.input : { ...testCase.input, [attack.into]: applyAttack(variableText(vars[attack.into]), attack) };
  return {
    ...testCase,
    id: `${testCase.id}~${attack.id}`,
    name: `${testCase.name ?? testCase.id} ~ ${attack.id}`,
    input,
    attack: { spec: attack, baseCase: testCase.id },
  };
}

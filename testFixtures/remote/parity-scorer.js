// A custom scorer: passes when the extracted number has the expected parity.
module.exports.score = (answer, expected) => {
  const value = Number(answer);
  const parity = Number.isInteger(value) ? (value % 2 === 0 ? 'even' : 'odd') : 'none';
  return { pass: parity === expected, score: parity === expected ? 1 : 0, reason: `${answer} is ${parity}` };
};

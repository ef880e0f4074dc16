// A scorer stuck in a synchronous busy loop on the answer "spin": only stopping its thread ends it.
module.exports.score = (answer, expected) => {
  if (answer === 'spin') for (;;);
  return answer === expected;
};

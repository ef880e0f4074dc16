// An asynchronous scorer: its verdict arrives after a timer.
module.exports = async (answer, expected, context) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { pass: answer === expected, score: answer === expected ? 1 : 0, reason: `async on ${context.caseId}` };
};

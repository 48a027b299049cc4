/**
 * A node:test reporter that writes one JSON line per finished test (file,
 * name, status, skip reason, error), for test/arm64/summary.mjs to count
 * and to group the skips by cause. Suites (tests with subtests) are not
 * counted: their subtests are.
 */
export default async function* jsonLines(source) {
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    if (data.details?.type === 'suite') continue;
    const status = type === 'test:fail' ? 'fail' : data.skip !== undefined && data.skip !== false ? 'skip' : 'pass';
    const line = { file: data.file, name: data.name, status };
    if (status === 'skip') line.reason = typeof data.skip === 'string' ? data.skip : '(no reason given)';
    if (status === 'fail') line.error = String(data.details?.error?.cause ?? data.details?.error);
    yield `${JSON.stringify(line)}\n`;
  }
}

// GraphiQL in Debian's headless Chromium, driven by playwright-core: loads /graphiql from the
// service at BASE_URL, signs in through the login mutation typed in the page, puts the token in
// the header editor, runs a query and a subscription, and checks what the result pane shows.
// run.sh starts the service and this script in a network namespace with only the loopback, so
// any request to another host would fail; the script also fails on any such request, any page
// error and any token found in the browser's storage.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const base = process.env.BASE_URL;
const email = process.env.ADMIN_EMAIL;
const password = process.env.ADMIN_PASSWORD;
const shots = process.env.SCREENSHOT_DIR;
const fixture = process.env.STUDENTS_CSV;
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

// Arrange over HTTP: wait for the service, sign in, import three students (the subscription
// below follows this import).
async function gql(query, token) {
  const r = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return r.json();
}
for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/health`)).ok) break; } catch { /* not up yet */ }
  if (i > 300) throw new Error('the service did not start');
  await sleep(100);
}
const setupToken = (await gql(`mutation { login(email: "${email}", password: "${password}") { token } }`)).data.login.token;
// The school's year and the two classes the file names.
const year = (await gql('mutation { createAcademicYear(input: { name: "2025-2026", startDate: "2025-09-01", endDate: "2026-06-20", isCurrent: true }) { id } }', setupToken)).data.createAcademicYear.id;
for (const name of ['ז׳1', 'ז׳2']) {
  await gql(`mutation { createClass(input: { academicYearId: "${year}", name: "${name}", gradeLevel: 7 }) { id } }`, setupToken);
}
const form = new FormData();
form.append('operations', JSON.stringify({ query: 'mutation($file: Upload!) { importStudents(file: $file) { id status rowsOk message } }', variables: { file: null } }));
form.append('map', JSON.stringify({ 0: ['variables.file'] }));
form.append('0', new Blob([readFileSync(fixture)]), 'students.csv');
const imported = await (await fetch(`${base}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${setupToken}` }, body: form })).json();
const importId = imported.data?.importStudents?.id;
const rowsOk = imported.data?.importStudents?.rowsOk;
check(imported.data?.importStudents?.status === 'SUCCEEDED' && rowsOk > 0, `arranged: an import of students (${JSON.stringify(imported)})`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const foreign = [];
const problems = [];
page.on('request', (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith(base.replace('http', 'ws')) && !r.url().startsWith('data:')) foreign.push(r.url());
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });

// Sets an editor's text: GraphiQL's editors are CodeMirror 5 instances.
// GraphiQL reads the operation's name from the editor a moment after a change.
async function setEditor(selector, text) {
  await page.evaluate(([s, t]) => document.querySelector(s).CodeMirror.setValue(t), [selector, text]);
  await page.waitForTimeout(700);
}
const QUERY = '.graphiql-query-editor .CodeMirror';
const HEADERS = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const RESULT = '.graphiql-response .CodeMirror';
// Runs the query editor's operation and waits until the result pane shows `expect`.
async function run(expect) {
  await setEditor(RESULT, '').catch(() => {});
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    ([s, e]) => document.querySelector(s)?.innerText.includes(e),
    [RESULT, expect],
    { timeout: 15000 },
  );
  return page.locator(RESULT).innerText();
}

try {
  const answer = await page.goto(`${base}/graphiql`);
  check(answer.status() === 200, 'GET /graphiql answers 200');
  check((answer.headers()['content-security-policy'] || '').includes("script-src 'self'"), 'the page carries a CSP allowing only its own scripts');
  await page.waitForSelector(QUERY, { timeout: 20000 });
  check(true, 'GraphiQL rendered (its query editor is on the page)');
  const headersText = await page.locator(HEADERS).innerText();
  check(headersText.includes('Authorization') && headersText.includes('X-School-Id'), 'the header editor is open and prefilled');
  // The schema came from the service by introspection: the docs explorer lists the root types.
  await page.click('[aria-label="Show Documentation Explorer"]');
  await page.waitForFunction(() => document.querySelector('.graphiql-doc-explorer')?.innerText.includes('Subscription'), null, { timeout: 15000 });
  check(true, 'the documentation explorer shows the schema (Query, Mutation, Subscription)');

  await setEditor(QUERY, `mutation SignIn { login(email: "${email}", password: "${password}") { token } }`);
  await run('"token"');
  const token = JSON.parse(await page.evaluate((s) => document.querySelector(s).CodeMirror.getValue(), RESULT)).data.login.token;
  check(typeof token === 'string' && token.length > 20, 'signed in through the login mutation; the token is on screen');

  await setEditor(HEADERS, JSON.stringify({ Authorization: `Bearer ${token}`, 'X-School-Id': 'first-school' }, null, 2));
  await setEditor(QUERY, 'query Roster { me { user { email } activeSchool { slug } } students(first: 5) { totalCount nodes { firstName lastName gradeLevel } } }');
  const shown = await run('totalCount');
  check(shown.includes(email), `the query's answer shows the signed-in user (${email})`);
  check(shown.includes(`"totalCount": ${rowsOk}`), `the query shows the ${rowsOk} imported students`);
  check(shown.includes('נועה'), 'Hebrew names arrive intact');
  if (shots) await page.screenshot({ path: `${shots}/graphiql-query.png` });

  await setEditor(QUERY, `subscription Progress { importProgress(id: "${importId}") { id status rowsOk fileName } }`);
  const streamed = await run('SUCCEEDED');
  check(streamed.includes(importId) && streamed.includes(`"rowsOk": ${rowsOk}`), `the subscription over /graphql/ws shows the import, SUCCEEDED with ${rowsOk} rows`);
  if (shots) await page.screenshot({ path: `${shots}/graphiql-subscription.png` });

  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  const keeping = await page.evaluate((t) => Object.keys(localStorage).filter((k) => localStorage.getItem(k).includes(t)), token);
  check(!stored.includes(token), `the token is not kept in localStorage, sessionStorage or cookies (${keeping.join(', ')})`);
  check(!stored.includes(password), 'the password typed into the login mutation is not kept either');
  check(foreign.length === 0, `no request left the service (${foreign.length}: ${foreign.slice(0, 3).join(' ')})`);
  check(problems.length === 0, `no page errors (${problems.slice(0, 3).join(' | ')})`);
} catch (e) {
  check(false, `the browser run stopped: ${e.message}`);
  if (shots) await page.screenshot({ path: `${shots}/graphiql-failure.png` }).catch(() => {});
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('GraphiQL offline: all checks passed');

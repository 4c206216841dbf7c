// The chat demo end to end: a relay and three chat nodes on free ports, and
// real pages in Debian's chromium. Each message must show up exactly once in
// each recipient's page, wherever the recipient is connected, and a user who
// was offline gets what was stored for them when they connect.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/chat/demo.js';
import { launchChromium, type Browser } from './helpers/chromium.js';

/** Where the page's screenshot goes (never into the repository). */
const SCREENSHOT = process.env.CHAT_SCREENSHOT ?? '/tmp/imrelay-chat-e2e.png';

let demo: Demo | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  demo = await startDemo({ relayPort: 0, nodePorts: [0, 0, 0], log: () => {} });
}, 20_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
}, 20_000);

async function open(node: string, user: string): Promise<Page> {
  const page = await browser!.context.newPage();
  await page.goto(`${demo!.urls[node]}?user=${user}`);
  await page.locator('body[data-state="connected"]').waitFor({ state: 'attached' });
  expect(await page.getByTestId('current-node').textContent()).toBe(node);
  return page;
}

async function send(page: Page, conversation: string, text: string): Promise<string> {
  await show(page, conversation);
  const input = page.getByTestId('composer-input');
  await input.fill(text);
  await input.press('Enter');
  const status = page.getByTestId('message').filter({ hasText: text }).getByTestId('message-status');
  await status.and(page.locator(':not([data-status="sending"])')).waitFor({ state: 'attached' });
  return (await status.textContent()) ?? '';
}

/** Brings `page` to the front (background tabs are throttled) and opens a conversation. */
async function show(page: Page, conversation: string): Promise<void> {
  await page.bringToFront();
  await page.getByTestId(`conv-${conversation}`).click();
}

function messages(page: Page, text: string) {
  return page.getByTestId('message').filter({ hasText: text });
}

/** Waits until the sender's page shows `expected` as the status of `text`. */
async function status(page: Page, text: string, expected: string): Promise<void> {
  await messages(page, text).getByTestId('message-status').filter({ hasText: expected }).waitFor({ state: 'attached' });
}

/** Waits until `text` is in the page, lets any stray copy arrive, and counts. */
async function countArrived(page: Page, text: string): Promise<number> {
  await messages(page, text).first().waitFor({ state: 'attached' });
  return messages(page, text).count();
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

describe('chat demo in chromium', () => {
  it('delivers across three nodes exactly once, and stored messages on connect', { timeout: 30_000 }, async () => {
    // Launched here, not in a hook: without chromium this test fails (saying how to install it), never skips.
    browser = await launchChromium();
    browser.context.setDefaultTimeout(8_000);
    const alice = await open('im-1', 'alice');
    const bob = await open('im-2', 'bob');
    const carol = await open('im-3', 'carol');

    // Presence from the relay: every page sees who is where.
    await alice.getByTestId('conv-user:carol').filter({ hasText: 'online on im-3' }).waitFor();
    await carol.getByTestId('conv-user:bob').filter({ hasText: 'online on im-2' }).waitFor();
    await bob.getByTestId('conv-user:dave').filter({ hasText: 'offline' }).waitFor();

    // A single message, im-1 -> im-2.
    expect(await send(alice, 'user:bob', 'Hi Bob, lunch at noon?')).toBe('Delivered');

    // A group message from im-3 to members on im-1 and im-2.
    expect(await send(carol, 'group:design', 'New mockups are up')).toBe('Delivered');

    // A group message to everyone: members on all three nodes, three offline.
    expect(await send(bob, 'group:all', 'Release is out, thanks all!')).toBe('Stored offline for Dave, Erin, Frank');

    // A single message to someone offline.
    expect(await send(alice, 'user:dave', 'Dave, call me when you are back')).toBe('Stored offline for Dave');

    // A reply, im-2 -> im-1.
    expect(await send(bob, 'user:alice', 'Noon works!')).toBe('Delivered');

    await settle();
    expect(await countArrived(bob, 'Hi Bob, lunch at noon?')).toBe(1);
    expect(await messages(carol, 'Hi Bob, lunch at noon?').count()).toBe(0);
    expect(await countArrived(alice, 'New mockups are up')).toBe(1);
    expect(await countArrived(bob, 'New mockups are up')).toBe(1);
    expect(await countArrived(alice, 'Release is out, thanks all!')).toBe(1);
    expect(await countArrived(carol, 'Release is out, thanks all!')).toBe(1);
    expect(await countArrived(alice, 'Noon works!')).toBe(1);
    // The senders see their own message once too.
    expect(await messages(bob, 'Release is out, thanks all!').count()).toBe(1);
    expect(await messages(alice, 'Hi Bob, lunch at noon?').count()).toBe(1);

    // Dave comes online on im-3: what im-1 and im-2 kept for him arrives once.
    const dave = await open('im-3', 'dave');
    expect(await countArrived(dave, 'Release is out, thanks all!')).toBe(1);
    expect(await countArrived(dave, 'Dave, call me when you are back')).toBe(1);
    // The senders hear that Dave got them.
    await status(alice, 'Dave, call me when you are back', 'Delivered · 1 got it after coming online');
    await status(bob, 'Release is out, thanks all!', 'Stored offline for Erin, Frank');
    await settle();
    expect(await messages(dave, 'Release is out, thanks all!').count()).toBe(1);
    expect(await messages(dave, 'Dave, call me when you are back').count()).toBe(1);

    // And the others see Dave online on im-3.
    await alice.getByTestId('conv-user:dave').filter({ hasText: 'online on im-3' }).waitFor();

    // Dave answers the group from im-3; Erin and Frank are still offline.
    expect(await send(dave, 'group:all', 'Back now. Congrats on the release!')).toBe('Stored offline for Erin, Frank');
    expect(await countArrived(alice, 'Back now. Congrats on the release!')).toBe(1);
    expect(await countArrived(bob, 'Back now. Congrats on the release!')).toBe(1);
    expect(await countArrived(carol, 'Back now. Congrats on the release!')).toBe(1);
    expect(await send(alice, 'group:all', 'Welcome back, Dave!')).toBe('Stored offline for Erin, Frank');
    expect(await countArrived(dave, 'Welcome back, Dave!')).toBe(1);

    // Carol opens a second page on im-1: located on two nodes, she gets one copy in each page,
    // though im-1 serves her directly and the relay routes to im-1 and im-3.
    const carolToo = await open('im-1', 'carol');
    await bob.getByTestId('conv-user:carol').filter({ hasText: 'online on im-1, im-3' }).waitFor({ state: 'attached' });
    expect(await send(alice, 'group:design', 'Two pages, one copy each')).toBe('Delivered');
    expect(await send(bob, 'user:carol', 'Ping on both nodes')).toBe('Delivered');
    await settle();
    for (const page of [carol, carolToo]) {
      expect(await countArrived(page, 'Two pages, one copy each')).toBe(1);
      expect(await countArrived(page, 'Ping on both nodes')).toBe(1);
    }

    // No page ever received a message twice (the page counts repeats it ignored).
    for (const page of [alice, bob, carol, carolToo, dave]) expect(await page.locator('body').getAttribute('data-duplicates')).toBeNull();

    await show(alice, 'group:all');
    await alice.screenshot({ path: SCREENSHOT });
  });
});

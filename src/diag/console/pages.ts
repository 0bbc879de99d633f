// The console's HTML pages and its browser script. The script edits the line locally (history
// with up/down, Ctrl-C, Ctrl-L) and sends whole lines; the server sends rendered text back.

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `
  body { margin: 0; background: #1e1e1e; color: #ddd; font-family: sans-serif; }
  nav { padding: 6px 12px; background: #333; }
  nav a { color: #9cf; margin-right: 16px; text-decoration: none; }
  #terminal { position: absolute; top: 34px; bottom: 0; left: 0; right: 0; padding: 4px; }
  table { border-collapse: collapse; margin: 12px; }
  td, th { text-align: left; padding: 3px 12px; border-bottom: 1px solid #444; vertical-align: top; }
  td a { color: #9cf; font-family: monospace; }
`;

const NAV = '<nav><a href="ui">Console</a><a href="ui/endpoints">Endpoints</a></nav>';

export function consolePage(): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pteron console</title><base href="/">
<link rel="stylesheet" href="ui/xterm.css"><style>${STYLE}</style></head>
<body>${NAV}<div id="terminal"></div>
<script type="module" src="ui/console.js"></script></body></html>
`;
}

export function endpointsPage(rows: Array<[string, string]>): string {
  const body = rows
    .map(([path, help]) => `<tr><td><a href="${escapeHtml(path)}">${escapeHtml(path)}</a></td><td>${escapeHtml(help)}</td></tr>`)
    .join('\n');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pteron endpoints</title><base href="/"><style>${STYLE}</style></head>
<body>${NAV}<table><tr><th>Path</th><th>Description</th></tr>
${body}
</table></body></html>
`;
}

export const CONSOLE_SCRIPT = `import { Terminal } from '/ui/xterm.mjs';

const PROMPT = '\\x1b[32mpteron\\x1b[0m$ ';
const term = new Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000 });
term.open(document.getElementById('terminal'));
window.pteronTerminal = term;

function fit() {
  const box = document.getElementById('terminal');
  const cell = term._core?._renderService?.dimensions?.css?.cell;
  if (!cell || !cell.width || !cell.height) return;
  term.resize(Math.max(20, Math.floor((box.clientWidth - 8) / cell.width)), Math.max(5, Math.floor((box.clientHeight - 8) / cell.height)));
}
window.addEventListener('resize', fit);
setTimeout(fit, 0);

const history = [];
let historyIndex = 0;
let line = '';
let inputAllowed = false;
let stashed = '';

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
const socket = new WebSocket(scheme + '//' + location.host + '/ui/ws' + location.search);

function prompt() {
  inputAllowed = true;
  line = '';
  term.write(PROMPT);
}

function replaceLine(text) {
  term.write('\\b \\b'.repeat(line.length));
  line = text;
  term.write(line);
}

socket.addEventListener('message', (event) => {
  const message = JSON.parse(event.data);
  if (message.type === 'output') term.write(message.text);
  else if (message.type === 'input') {
    if (message.status === 'ALLOW_INPUT' && !inputAllowed) prompt();
    else if (message.status !== 'ALLOW_INPUT') inputAllowed = false;
  }
});
socket.addEventListener('close', () => {
  inputAllowed = false;
  term.write('\\r\\n\\x1b[31mconnection closed\\x1b[0m\\r\\n');
});

term.onData((data) => {
  if (data === '\\x03') {
    term.write('^C\\r\\n');
    if (inputAllowed) {
      prompt();
    } else {
      socket.send(JSON.stringify({ type: 'interrupt' }));
    }
    return;
  }
  if (!inputAllowed) return;
  if (data === '\\r') {
    term.write('\\r\\n');
    const command = line.trim();
    if (command === '') {
      prompt();
      return;
    }
    if (history[history.length - 1] !== command) history.push(command);
    historyIndex = history.length;
    inputAllowed = false;
    line = '';
    socket.send(JSON.stringify({ type: 'line', line: command }));
    return;
  }
  if (data === '\\x7f' || data === '\\b') {
    if (line.length > 0) {
      line = line.slice(0, -1);
      term.write('\\b \\b');
    }
    return;
  }
  if (data === '\\x1b[A') {
    if (historyIndex === history.length) stashed = line;
    if (historyIndex > 0) replaceLine(history[--historyIndex]);
    return;
  }
  if (data === '\\x1b[B') {
    if (historyIndex < history.length) {
      historyIndex++;
      replaceLine(historyIndex === history.length ? stashed : history[historyIndex]);
    }
    return;
  }
  if (data === '\\x0c') {
    term.clear();
    return;
  }
  const printable = data.replace(/[\\x00-\\x1f\\x7f]|\\x1b\\[[0-9;]*[A-Za-z~]/g, '');
  if (printable !== '') {
    line += printable;
    term.write(printable);
  }
});
term.focus();
`;

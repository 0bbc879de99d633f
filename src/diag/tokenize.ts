// Splits a command line the way a shell user expects: blanks separate words, single quotes keep
// text literally, double quotes allow \" and \\ escapes, a backslash outside quotes escapes the
// next character. A trailing unquoted `&` asks for a background job.

export interface CommandLine {
  words: string[];
  background: boolean;
}

export class CommandLineError extends Error {}

interface Token {
  text: string;
  quoted: boolean;
}

function tokens(line: string): Token[] {
  const found: Token[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else current += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (line[index + 1] === '"' || line[index + 1] === '\\')) current += line[++index];
      else current += char;
      continue;
    }
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      if (inWord) found.push({ text: current, quoted });
      current = '';
      inWord = false;
      quoted = false;
      continue;
    }
    inWord = true;
    if (char === '"' || char === "'") {
      quote = char;
      quoted = true;
    } else if (char === '\\' && index + 1 < line.length) {
      current += line[++index];
      quoted = true;
    } else {
      current += char;
    }
  }
  if (quote !== undefined) throw new CommandLineError(`unclosed quote ${quote} in command line`);
  if (inWord) found.push({ text: current, quoted });
  return found;
}

export function parseCommandLine(line: string): CommandLine {
  const words = tokens(line);
  let background = false;
  const last = words[words.length - 1];
  if (last && !last.quoted && last.text === '&') {
    background = true;
    words.pop();
  } else if (last && !last.quoted && last.text.endsWith('&')) {
    background = true;
    last.text = last.text.slice(0, -1);
  }
  const pipe = words.find((word) => !word.quoted && word.text === '|');
  if (pipe) throw new CommandLineError("pipes ('|') are not supported; quote the character to pass it to the command");
  return { words: words.map((word) => word.text), background };
}

// The baseline for the admin HTTP bench: plain node:http answering every request with one fixed
// body, with the same status and headers a Pteron server sends for GET /version.
// usage: node --import tsx bench/lib/bare-http-server.ts PORT BODY_BASE64
import http from 'node:http';

const [portText, bodyBase64] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || bodyBase64 === undefined) {
  process.stderr.write('usage: bare-http-server.ts PORT BODY_BASE64\n');
  process.exit(2);
}
const body = Buffer.from(bodyBase64, 'base64');

const server = http.createServer({ maxHeaderSize: 16384 }, (request, response) => {
  response.sendDate = false;
  request.resume();
  response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  response.end(body);
});

server.listen(port, '127.0.0.1');

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

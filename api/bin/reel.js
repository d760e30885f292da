#!/usr/bin/env node
// Plain JavaScript on purpose: this file must run on any Node to say clearly when Node is too old.
// reel's TypeScript runs on Node 24's built-in type stripping, with no build step.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `FAIL node     Node.js ${process.version} is too old: reel needs Node.js 24 LTS or newer\n` +
      '     fix: run it as `npx reel …` inside the reel folder (after npm ci it runs on the node dev dependency, Node 24),\n' +
      '          or install Node 24: npm install --prefix ~/.reel-node node@24 && export PATH="$HOME/.reel-node/node_modules/.bin:$PATH"\n',
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);

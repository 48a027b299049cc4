/**
 * Docs are part of the feature: every export of `iomodes` and `iomodes/coro`
 * (functions, classes, constants and types alike) has TSDoc with an
 * `@example`, which the API reference in docs/api/ shows.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { root } from './helpers/index.js';

const ENTRIES = ['lib/index.ts', 'lib/coro/index.ts'];

describe('TSDoc', () => {
  it('gives every export of both entry points a summary and an @example', () => {
    const program = ts.createProgram(
      ENTRIES.map((e) => join(root, e)),
      { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true },
    );
    const checker = program.getTypeChecker();
    const lacking: string[] = [];
    let exports = 0;
    for (const entry of ENTRIES) {
      const module = checker.getSymbolAtLocation(program.getSourceFile(join(root, entry))!)!;
      const visit = (moduleSymbol: ts.Symbol, prefix: string) => {
        for (const exported of checker.getExportsOfModule(moduleSymbol)) {
          const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
          // A namespace (coro's `net`) is documented by its members: check those.
          if (symbol.flags & ts.SymbolFlags.Module) {
            visit(symbol, `${prefix}${exported.name}.`);
            continue;
          }
          exports++;
          const summary = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
          const example = symbol.getJsDocTags(checker).some((tag) => tag.name === 'example');
          if (!summary || !example) lacking.push(`${entry}: ${prefix}${exported.name}${summary ? '' : ' (no summary)'}${example ? '' : ' (no @example)'}`);
        }
      };
      visit(module, '');
    }
    expect(exports).toBeGreaterThan(150);
    expect(lacking).toEqual([]);
  }, 60_000);
});

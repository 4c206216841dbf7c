/**
 * Finds the types a package's public signatures use but its entry does not
 * export: a user can receive such a value yet cannot name its type.
 */
import { relative } from 'node:path';
import ts from 'typescript';

export interface UnexportedType {
  /** The name in the declaration file. */
  name: string;
  /** `file:line` of its declaration. */
  declaredAt: string;
  /** The public declarations (or other unexported types) whose signature uses it. */
  usedBy: string[];
}

export interface ExportReport {
  /** Every public name: the entry's exports and, as `ns.Name`, the exports of exported namespaces. */
  exported: string[];
  unexported: UnexportedType[];
}

/**
 * Walks the signatures of everything `entry` exports (public class members,
 * function parameters and returns, interface members, type alias bodies,
 * variable types, base types), and then of every type found there, and lists
 * the types declared in files under `ownRoot` that are not exported.
 */
export function findUnexportedTypes(entry: string, ownRoot: string, options: ts.CompilerOptions): ExportReport {
  const program = ts.createProgram([entry], { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${entry} is not a module`);

  const isOwn = (node: ts.Node): boolean => !relative(ownRoot, node.getSourceFile().fileName).startsWith('..');
  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

  // A bundled namespace re-exports through shims (`type ns_X = X;` and
  // `declare const ns_X: typeof X;`): X is as public as the shim.
  const shimTarget = (symbol: ts.Symbol): ts.Symbol | undefined => {
    let target: ts.Symbol | undefined;
    for (const decl of symbol.declarations ?? []) {
      let name: ts.Node | undefined;
      if (ts.isTypeAliasDeclaration(decl) && !decl.typeParameters && ts.isTypeReferenceNode(decl.type) && !decl.type.typeArguments) {
        name = decl.type.typeName;
      } else if (ts.isVariableDeclaration(decl) && decl.type && ts.isTypeQueryNode(decl.type) && !decl.type.typeArguments) {
        name = decl.type.exprName;
      }
      const found = name && ts.isIdentifier(name) ? checker.getSymbolAtLocation(name) : undefined;
      if (!found || (target && resolve(found) !== target)) return undefined;
      target = resolve(found);
    }
    return target;
  };

  const exported = new Map<ts.Symbol, string>();
  const addExports = (container: ts.Symbol, prefix: string): void => {
    for (const e of checker.getExportsOfModule(container)) {
      const name = prefix + e.name;
      const target = resolve(e);
      if (exported.has(target)) continue;
      exported.set(target, name);
      const shimmed = shimTarget(target);
      if (shimmed && !exported.has(shimmed)) exported.set(shimmed, name);
      if (target.flags & ts.SymbolFlags.Namespace) addExports(target, `${name}.`);
    }
  };
  addExports(moduleSymbol, '');

  const unexported = new Map<ts.Symbol, UnexportedType>();
  const queue: Array<[ts.Symbol, string]> = [...exported];
  const walked = new Set<ts.Symbol>();

  // `A.B` names B (in a type reference); `typeof A.b` needs only A to be nameable.
  const rightmost = (name: ts.Node): ts.Node =>
    ts.isQualifiedName(name) ? name.right : ts.isPropertyAccessExpression(name) ? name.name : name;
  const leftmost = (name: ts.Node): ts.Node =>
    ts.isQualifiedName(name) ? leftmost(name.left) : ts.isPropertyAccessExpression(name) ? leftmost(name.expression) : name;

  const reference = (id: ts.Node, usedBy: string): void => {
    const found = checker.getSymbolAtLocation(id);
    if (!found) return;
    const symbol = resolve(found);
    if (symbol.flags & ts.SymbolFlags.TypeParameter) return;
    const own = (symbol.declarations ?? []).filter(isOwn);
    if (own.length === 0 || exported.has(symbol)) return;
    let entry = unexported.get(symbol);
    if (!entry) {
      const decl = own[0]!;
      const sf = decl.getSourceFile();
      const line = sf.getLineAndCharacterOfPosition(decl.getStart()).line + 1;
      entry = { name: symbol.name, declaredAt: `${relative(ownRoot, sf.fileName)}:${line}`, usedBy: [] };
      unexported.set(symbol, entry);
      queue.push([symbol, symbol.name]);
    }
    if (!entry.usedBy.includes(usedBy)) entry.usedBy.push(usedBy);
  };

  const visitTypes = (node: ts.Node, usedBy: string): void => {
    if (ts.isTypeReferenceNode(node)) reference(rightmost(node.typeName), usedBy);
    else if (ts.isExpressionWithTypeArguments(node)) reference(rightmost(node.expression), usedBy);
    else if (ts.isTypeQueryNode(node)) reference(leftmost(node.exprName), usedBy);
    else if (ts.isImportTypeNode(node) && node.qualifier) reference(rightmost(node.qualifier), usedBy);
    else if (ts.isComputedPropertyName(node)) return;
    ts.forEachChild(node, (child) => visitTypes(child, usedBy));
  };

  const isHidden = (member: ts.Node): boolean => {
    const name = (member as { name?: ts.Node }).name;
    if (name && ts.isPrivateIdentifier(name)) return true;
    const flags = ts.canHaveModifiers(member) ? ts.getCombinedModifierFlags(member as ts.Declaration) : 0;
    return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
  };

  const memberName = (member: ts.ClassElement | ts.TypeElement): string => {
    if (ts.isConstructorDeclaration(member) || ts.isConstructSignatureDeclaration(member)) return 'constructor';
    if (ts.isCallSignatureDeclaration(member)) return '()';
    if (ts.isIndexSignatureDeclaration(member)) return '[index]';
    return member.name ? member.name.getText() : '?';
  };

  const visitDeclaration = (decl: ts.Declaration, name: string): void => {
    if (ts.isClassLike(decl) || ts.isInterfaceDeclaration(decl)) {
      decl.typeParameters?.forEach((p) => visitTypes(p, name));
      decl.heritageClauses?.forEach((h) => visitTypes(h, name));
      const members: readonly (ts.ClassElement | ts.TypeElement)[] = decl.members;
      for (const member of members) {
        if (!isHidden(member)) visitTypes(member, `${name}.${memberName(member)}`);
      }
    } else if (ts.isTypeAliasDeclaration(decl) || ts.isFunctionDeclaration(decl) || ts.isVariableDeclaration(decl)) {
      visitTypes(decl, name);
    }
    // Namespaces are walked through their exports; enums have no types in them.
  };

  for (let next = queue.shift(); next; next = queue.shift()) {
    const [symbol, name] = next;
    if (walked.has(symbol)) continue;
    walked.add(symbol);
    for (const decl of symbol.declarations ?? []) if (isOwn(decl)) visitDeclaration(decl, name);
  }

  return {
    exported: [...exported.values()].sort(),
    unexported: [...unexported.values()].map((t) => ({ ...t, usedBy: t.usedBy.sort() })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

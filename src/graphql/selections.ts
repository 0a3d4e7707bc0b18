// What a GraphQL selection asks for: the fields selected under a node, fragments included.
import type { FieldNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/** The names of the fields selected under `node` (fragments included), with their sub-selections. */
export function selections(info: GraphQLResolveInfo, set: SelectionSetNode | undefined, into = new Map<string, FieldNode[]>()): Map<string, FieldNode[]> {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === 'Field') into.set(selection.name.value, [...(into.get(selection.name.value) ?? []), selection]);
    else if (selection.kind === 'InlineFragment') selections(info, selection.selectionSet, into);
    else selections(info, info.fragments[selection.name.value]?.selectionSet, into);
  }
  return into;
}

export function childFields(info: GraphQLResolveInfo, nodes: readonly FieldNode[] | undefined): Map<string, FieldNode[]> {
  const into = new Map<string, FieldNode[]>();
  for (const node of nodes ?? []) selections(info, node.selectionSet, into);
  return into;
}


"""Shopify's requested query cost, computed the documented way, for the stand-in to enforce.

https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits ("Cost calculation"): scalars
and enums cost 0, an object 1, a connection 2 plus ``first`` times the cost of one node; a single
query may request at most 1,000 points. Mutations cost 10.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    get_named_type,
    is_leaf_type,
    parse,
)

MAX_QUERY_COST = 1000
MUTATION_COST = 10


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _first(field: FieldNode, variables: dict[str, Any]) -> int:
    for arg in field.arguments:
        if arg.name.value in {"first", "last"}:
            value = arg.value
            if value.kind == "variable":
                return int(variables.get(value.name.value) or 10)
            return int(value.value)  # type: ignore[attr-defined]
    return 1


def _fields(selection_set: Any, fragments: dict[str, Any]) -> list[FieldNode]:
    out: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else []:
        if isinstance(selection, FieldNode):
            out.append(selection)
        elif isinstance(selection, FragmentSpreadNode):
            out.extend(_fields(fragments[selection.name.value].selection_set, fragments))
        elif isinstance(selection, InlineFragmentNode):
            out.extend(_fields(selection.selection_set, fragments))
    return out


def _cost(selection_set: Any, parent: GraphQLObjectType, fragments: dict[str, Any],
          variables: dict[str, Any]) -> int:
    total = 0
    for field in _fields(selection_set, fragments):
        definition = parent.fields.get(field.name.value)
        if definition is None:
            continue
        named = get_named_type(definition.type)
        if is_leaf_type(named) or not isinstance(named, GraphQLObjectType):
            continue
        if named.name.endswith("Connection"):
            node_cost = 0
            for inner in _fields(field.selection_set, fragments):
                if inner.name.value in {"nodes", "edges"}:
                    node_type = get_named_type(named.fields[inner.name.value].type)
                    node_cost += 1 + _cost(inner.selection_set, node_type, fragments, variables)
            total += 2 + _first(field, variables) * node_cost
        elif _is_list(definition.type):
            total += _first(field, variables) * (
                1 + _cost(field.selection_set, named, fragments, variables))
        else:
            total += 1 + _cost(field.selection_set, named, fragments, variables)
    return total


def requested_cost(schema: GraphQLSchema, source: str, variables: dict[str, Any] | None = None
                   ) -> int:
    document = parse(source)
    fragments = {d.name.value: d for d in document.definitions
                 if d.kind == "fragment_definition"}
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if definition.operation.value == "mutation":
                total += MUTATION_COST
            else:
                total += _cost(definition.selection_set, schema.query_type, fragments,  # type: ignore[arg-type]
                               variables or {})
    return total

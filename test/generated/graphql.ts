/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** A new customers row; row_id and time_slot are assigned by the gateway */
export type Customers_Insert_Input = {
  country?: string | null | undefined;
  lifetime_value?: number | null | undefined;
  name: string;
  signup_at?: string | null | undefined;
  tier?: Customers_Tier_Enum | null | undefined;
};

/** Values of customers.tier */
export type Customers_Tier_Enum =
  | 'ENTERPRISE'
  | 'FREE'
  | 'PRO';

/** A new orders row; row_id and time_slot are assigned by the gateway */
export type Orders_Insert_Input = {
  customer?: string | null | undefined;
  note?: string | null | undefined;
  paid?: boolean | null | undefined;
  placed_at?: string | null | undefined;
  quantity?: number | string | null | undefined;
  total?: number | null | undefined;
};

export type InsertCustomerMutationVariables = Exact<{
  object: Customers_Insert_Input;
}>;


export type InsertCustomerMutation = { insert_customers_one: { row_id: string, name: string, tier: Customers_Tier_Enum | null } | null };

export type InsertOrdersMutationVariables = Exact<{
  objects: Array<Orders_Insert_Input> | Orders_Insert_Input;
}>;


export type InsertOrdersMutation = { insert_orders: { affected_rows: number, returning: Array<{ row_id: string, total: number | null, customer: { name: string } | null }> } | null };

export type OrderByPkQueryVariables = Exact<{
  row_id: string;
}>;


export type OrderByPkQuery = { orders_by_pk: { row_id: string, total: number | null, paid: boolean | null, customer: { name: string, tier: Customers_Tier_Enum | null } | null } | null };


export const InsertCustomerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"InsertCustomer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"object"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"customers_insert_input"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"insert_customers_one"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"object"},"value":{"kind":"Variable","name":{"kind":"Name","value":"object"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"row_id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"tier"}}]}}]}}]} as unknown as DocumentNode<InsertCustomerMutation, InsertCustomerMutationVariables>;
export const InsertOrdersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"InsertOrders"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"objects"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"orders_insert_input"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"insert_orders"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"objects"},"value":{"kind":"Variable","name":{"kind":"Name","value":"objects"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"affected_rows"}},{"kind":"Field","name":{"kind":"Name","value":"returning"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"row_id"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]}}]} as unknown as DocumentNode<InsertOrdersMutation, InsertOrdersMutationVariables>;
export const OrderByPkDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"OrderByPk"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"row_id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"orders_by_pk"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"row_id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"row_id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"row_id"}},{"kind":"Field","name":{"kind":"Name","value":"total"}},{"kind":"Field","name":{"kind":"Name","value":"paid"}},{"kind":"Field","name":{"kind":"Name","value":"customer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"tier"}}]}}]}}]}}]} as unknown as DocumentNode<OrderByPkQuery, OrderByPkQueryVariables>;
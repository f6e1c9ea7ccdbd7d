"""The GraphQL documents the Shopify adapter sends (Admin API 2025-01).

Kept apart from the adapter so they can be read against the reference in one place; the contract
tests validate every one of them against the stand-in's schema (written from shopify.dev) and
check their requested cost. A single query may not request more than 1,000 points (a connection
costs 2 + first x its node), and a standard plan refills 100 points a second, so: an order is
found by name with a cheap query (~12 points), then read in full by id (~230 points: up to 15
lines, 2 parcels, 3 refunds, 2 returns); a product search lists candidates cheaply (~13-23
points) and reads variants only for the best matches (~100 points each).
"""

ORDER_FIELDS = """
fragment AtiendeOrder on Order {
  id name createdAt processedAt cancelledAt closedAt email phone customerLocale currencyCode
  displayFinancialStatus displayFulfillmentStatus paymentGatewayNames
  totalPriceSet { shopMoney { amount currencyCode } }
  customer { id displayName email phone tags }
  shippingAddress {
    firstName lastName address1 address2 city province provinceCode zip countryCodeV2 phone
  }
  lineItems(first: 15) {
    nodes {
      id name title sku quantity variantTitle
      discountedUnitPriceSet { shopMoney { amount } }
      variant { selectedOptions { name value } }
      product { productType tags }
    }
  }
  fulfillments(first: 2) {
    id status displayStatus createdAt inTransitAt deliveredAt estimatedDeliveryAt
    trackingInfo(first: 1) { company number url }
    fulfillmentLineItems(first: 15) { nodes { id quantity lineItem { id } } }
  }
  refunds(first: 3) {
    id createdAt note
    totalRefundedSet { shopMoney { amount currencyCode } }
    transactions(first: 3) { nodes { gateway kind status processedAt } }
  }
  returns(first: 2) {
    nodes {
      id name status createdAt
      returnLineItems(first: 5) {
        nodes { quantity returnReason fulfillmentLineItem { lineItem { id } } }
      }
    }
  }
}
"""

ORDER_IDS = """
query AtiendeOrderIds($query: String!) {
  orders(first: 10, query: $query, reverse: true) { nodes { id name email } }
}
"""

ORDER = ORDER_FIELDS + """
query AtiendeOrder($id: ID!) { order(id: $id) { ...AtiendeOrder } }
"""

VARIANT_FIELDS = "sku price availableForSale selectedOptions { name value }"


def product_ids_query(*, translations: bool) -> str:
    """Cheap candidate list for a product search (titles, types, tags)."""
    extra = " translations(locale: $locale) { key value }" if translations else ""
    locale = ", $locale: String!" if translations else ""
    return f"""
query AtiendeProductIds($query: String!{locale}) {{
  shop {{ currencyCode }}
  products(first: 10, query: $query) {{ nodes {{ id title productType tags{extra} }} }}
}}
"""


def product_query(*, translations: bool, inventory: bool) -> str:
    """One product with its variants; stock needs the read_inventory scope, translated names
    read_translations: without them the adapter asks again with less."""
    variant = VARIANT_FIELDS + (" inventoryQuantity" if inventory else "")
    extra = " translations(locale: $locale) { key value }" if translations else ""
    locale = ", $locale: String!" if translations else ""
    return f"""
query AtiendeProduct($id: ID!{locale}) {{
  product(id: $id) {{
    id title handle description productType tags onlineStoreUrl{extra}
    variants(first: 50) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {variant} }} }}
  }}
}}
"""


def more_variants_query(*, inventory: bool) -> str:
    variant = VARIANT_FIELDS + (" inventoryQuantity" if inventory else "")
    return f"""
query AtiendeMoreVariants($id: ID!, $after: String) {{
  product(id: $id) {{
    variants(first: 50, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {variant} }}
    }}
  }}
}}
"""


ORDER_CANCEL = """
mutation AtiendeOrderCancel($orderId: ID!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: CUSTOMER, refund: true, restock: true,
              notifyCustomer: true, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

JOB = """
query AtiendeJob($id: ID!) { job(id: $id) { id done } }
"""

ORDER_UPDATE_ADDRESS = """
mutation AtiendeOrderAddress($input: OrderInput!) {
  orderUpdate(input: $input) { order { id } userErrors { field message } }
}
"""

RETURN_REQUEST = """
mutation AtiendeReturnRequest($input: ReturnRequestInput!) {
  returnRequest(input: $input) { return { id name status } userErrors { field message code } }
}
"""

ACCESS_SCOPES = """
query AtiendeAccessScopes {
  shop { name currencyCode }
  currentAppInstallation { accessScopes { handle } }
}
"""

/** The order book the LangGraph agent reads, and the arithmetic its outcome is checked against. */
export const ORDERS: Record<string, { sku: string; price: number; qty: number }[]> = {
  "A-17": [
    { sku: "kettle", price: 42, qty: 2 },
    { sku: "filter", price: 15.5, qty: 3 },
  ],
  "B-02": [{ sku: "mug", price: 9, qty: 4 }],
};

export function orderTotal(id: string): number {
  return (ORDERS[id] ?? []).reduce((sum, item) => sum + item.price * item.qty, 0);
}

/** Two decimals, the way money is recorded. */
export const cents = (n: number) => Math.round(n * 100) / 100;

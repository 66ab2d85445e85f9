-- Wire accrual onto the benchmark's host tables (bench/setup.sql).
SELECT loyalty.attach(program => 'bench', orders => 'shop.orders',
    id_column => 'order_id', customer_column => 'customer_id', amount_column => 'total',
    branch_column => 'branch', time_column => 'created_at', status_column => 'status',
    lines => 'shop.order_lines', line_order_column => 'order_id', line_no_column => 'line_no',
    sku_column => 'sku', group_column => 'grp', quantity_column => 'qty',
    price_column => 'price', discount_column => 'discount');

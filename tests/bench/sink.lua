-- sink.lua — wrk script for the courier part's baseline
-- (tests/bench/50-courier.part.sh): what the C sink takes from a plain HTTP
-- client, with a body and headers the size of courier's signed webhooks.
--
--   wrk -t1 -c64 -d3s -s sink.lua URL
--
-- done() prints one line the part script reads:
--
--   WRK requests=N duration_us=N non2xx=N errors=N
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "5f0c8a5e-6b1f-4f4e-9d0e-2f1d3c4b5a69"
wrk.headers["webhook-timestamp"] = "1767225600"
wrk.headers["webhook-signature"] = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
wrk.body = '{"id":"5f0c8a5e-6b1f-4f4e-9d0e-2f1d3c4b5a69","type":"message.outbound",'
  .. '"stream":"router","seq":1,"ticket_id":"0b6f3c1e-8a7d-4c2b-9e1f-3a4d5c6b7e8f",'
  .. '"body":{"delivery_id":"5f0c8a5e-6b1f-4f4e-9d0e-2f1d3c4b5a69","kind":"reply",'
  .. '"channel":"chat","recipient":{"name":"Khách hàng","handle":"chat-user-1"},'
  .. '"text":"Dạ, em đã kiểm tra: đơn hàng của anh sẽ được giao ngày mai.","language":"vi"}}'

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout))
end

-- wrk script for the todo-graphql workloads.
--
--   wrk -s graphql.lua http://127.0.0.1:PORT/graphql -- MODE DATAFILE
--
-- MODE      list | point | write | mix | login
-- DATAFILE  list/write: one access token a line
--           point/mix:  "token<TAB>todo global id" lines (ids of that token's own todos)
--           login:      "email<TAB>password" lines
--
-- Every request picks a random line. Every response is checked: a status other than 200, a
-- body carrying "errors", a body without a "data" object, or a point read answering
-- "todo":null (the todo is the caller's own, so null is wrong) are counted and the first few
-- bodies are kept. done() prints one "BENCH_RESULT {json}" line and "BENCH_SAMPLE ..." lines
-- that bench/run and bench/bench.py read.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Per-thread state; globals so that done() can read them through thread:get().
non200 = 0
gqlerrors = 0
nodata = 0
nulls = 0
nsamples = 0
responses = 0

local MAX_SAMPLES = 3
local mode
local rows = {}
local nrows = 0
local seq = 0

local PRIORITIES = { "NONE", "LOW", "MEDIUM", "HIGH" }

local LIST_BODY = '{"query":"query List { todos(first: 20) { edges { node { id title completed priority dueAt version } } pageInfo { endCursor hasNextPage } } }"}'
local POINT_PREFIX = '{"query":"query Point($id: ID!) { todo(id: $id) { id title completed priority dueAt version } }","variables":{"id":"'
local WRITE_PREFIX = '{"query":"mutation Create($input: CreateTodoInput!) { createTodo(input: $input) { id version } }","variables":{"input":'
local LOGIN_PREFIX = '{"query":"mutation Login($input: LoginInput!) { login(input: $input) { accessToken } }","variables":{"input":'

function init(args)
  mode = args[1]
  bench_mode = mode -- a global, for done() (which runs in another Lua state)
  local file = args[2]
  if mode == nil or file == nil then
    error("usage: wrk -s graphql.lua URL -- MODE DATAFILE")
  end
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  for line in io.lines(file) do
    local a, b = line:match("^([^\t]+)\t?(.*)$")
    if a then
      nrows = nrows + 1
      rows[nrows] = { a, b }
    end
  end
  if nrows == 0 then
    error("no rows in " .. file)
  end
end

local function write_body()
  seq = seq + 1
  local input = '{"title":"wrk todo ' .. tid .. "-" .. seq .. '","priority":"' .. PRIORITIES[math.random(4)] .. '"'
  if math.random(4) == 1 then
    input = input .. ',"notes":"written by the benchmark"'
  end
  if math.random(3) == 1 then
    input = input .. string.format(',"dueAt":"2027-%02d-%02dT12:00:00Z"', math.random(12), math.random(28))
  end
  return WRITE_PREFIX .. input .. "}}}"
end

function request()
  local row = rows[math.random(nrows)]
  local m = mode
  if m == "mix" then
    -- 90 % reads (half list, half point read), 10 % createTodo.
    local x = math.random(100)
    if x <= 10 then
      m = "write"
    elseif x <= 55 then
      m = "list"
    else
      m = "point"
    end
  end
  local headers = { ["Content-Type"] = "application/json" }
  local body
  if m == "login" then
    body = LOGIN_PREFIX .. '{"email":"' .. row[1] .. '","password":"' .. row[2] .. '"}}}'
  else
    headers["Authorization"] = "Bearer " .. row[1]
    if m == "list" then
      body = LIST_BODY
    elseif m == "point" then
      body = POINT_PREFIX .. row[2] .. '"}}'
    elseif m == "write" then
      body = write_body()
    else
      error("unknown mode " .. tostring(m))
    end
  end
  return wrk.format("POST", nil, headers, body)
end

local function keep(status, body)
  if nsamples < MAX_SAMPLES then
    nsamples = nsamples + 1
    local text = (body or ""):gsub("[\r\n]", " ")
    if #text > 2000 then
      text = text:sub(1, 2000) .. "...(cut)"
    end
    _G["sample" .. nsamples] = "HTTP " .. status .. " " .. text
  end
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
    keep(status, body)
  elseif body:find('"errors"', 1, true) then
    gqlerrors = gqlerrors + 1
    keep(status, body)
  elseif not body:find('"data":{', 1, true) then
    nodata = nodata + 1
    keep(status, body)
  elseif body:find('"todo":null', 1, true) then
    nulls = nulls + 1
    keep(status, body)
  end
end

function done(summary, latency, requests)
  local c = { non200 = 0, gqlerrors = 0, nodata = 0, nulls = 0, responses = 0 }
  local samples = {}
  for _, t in ipairs(threads) do
    for k, _ in pairs(c) do
      c[k] = c[k] + (tonumber(t:get(k)) or 0)
    end
    for i = 1, MAX_SAMPLES do
      local s = t:get("sample" .. i)
      if s then
        table.insert(samples, s)
      end
    end
  end
  local mode_name = threads[1] and threads[1]:get("bench_mode") or "?"
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"mode":"%s","requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"checked":%d,"non200":%d,"graphql_errors":%d,"no_data":%d,"null_todo":%d}\n',
    mode_name, summary.requests, summary.duration, summary.bytes,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout,
    c.responses, c.non200, c.gqlerrors, c.nodata, c.nulls))
  for _, s in ipairs(samples) do
    io.write("BENCH_SAMPLE ", s, "\n")
  end
end

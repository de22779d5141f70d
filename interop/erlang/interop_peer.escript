#!/usr/bin/env escript
%%! -noinput
%% Erlang/OTP's diameter application as a peer of diameter-interop's tests
%% (interop/tests/erlang.rs, started through interop/src/erlang.rs).
%%
%%   escript interop_peer.escript DICT_DIR OUT_DIR
%%
%% At start-up it compiles the credit-control dictionaries of DICT_DIR (interop_cc.dia for
%% servers, interop_cc_client.dia for clients) with diameter_make into OUT_DIR, loads them,
%% and prints "ready otp <release> diameter <vsn>". Then it reads commands from stdin, one a
%% line, "<id> <command> <args...>", runs each in its own process and prints "<id> ok ..."
%% or "<id> error ..." when it is done. Events (peers up and down, requests served) are
%% printed as "event ..." lines. It halts at the end of its input, so that it cannot
%% outlive the test that started it.
%%
%% Commands:
%%   service NAME client|server ORIGIN-HOST ORIGIN-REALM AUTH-APPS ACCT-APPS
%%       starts a diameter service advertising these Auth- and Acct-Application-Ids
%%       (comma-separated, or -); application 4 is served with the dictionary of its kind,
%%       answer errors go to handle_answer (answer_errors = callback); Acct-Application-Id
%%       3 is OTP's own accounting dictionary (diameter_gen_acct_rfc6733). Every local
%%       application must have a dictionary: diameter's peer FSM fails the connection
%%       after CEA otherwise.
%%   listen NAME TAG PORT TW_MS     a listening TCP transport on 127.0.0.1:PORT
%%   connect NAME TAG PORT TW_MS    a connecting TCP transport to 127.0.0.1:PORT
%%   remove NAME TAG                removes a transport (DPR to its peer)
%%   ccr NAME DEST-REALM NUMBER [mbit]
%%       sends a CCR (CC-Request-Type INITIAL, Requested-Service-Unit of 1 MiB); with mbit,
%%       also an AVP of code 65123 with the M bit that no dictionary defines
%%   xxr NAME DEST-REALM            sends the experimental command 16777215
%%   info NAME                      diameter:service_info of its transports and connections
%%   stop NAME                      stops the service
-module(interop_peer).
-mode(compile).

-export([main/1, tw/1]).
-export([peer_up/3, peer_down/3, pick_peer/4, prepare_request/3, prepare_retransmit/3,
         handle_answer/4, handle_error/4, handle_request/3]).

-include_lib("diameter/include/diameter.hrl").

%% The AVP no dictionary defines, sent with the M bit to see 5001 DIAMETER_AVP_UNSUPPORTED.
-define(UNKNOWN_AVP, 65123).

main([DictDir, OutDir]) ->
    ok = diameter:start(),
    ets:new(interop_peer, [named_table, public, set]),
    lists:foreach(fun(D) -> make_dict(filename:join(DictDir, D), OutDir) end,
                  ["interop_cc.dia", "interop_cc_client.dia"]),
    {ok, Vsn} = application:get_key(diameter, vsn),
    out("ready otp ~s diameter ~s", [erlang:system_info(otp_release), Vsn]),
    loop();
main(_) ->
    io:format(standard_error, "usage: interop_peer.escript DICT_DIR OUT_DIR~n", []),
    halt(2).

%% diameter_make's codec, compiled and loaded.
make_dict(Dia, OutDir) ->
    case diameter_make:codec(Dia, [{outdir, OutDir}]) of
        ok -> ok;
        Err -> fail("diameter_make ~s: ~p", [Dia, Err])
    end,
    Erl = filename:join(OutDir, filename:rootname(filename:basename(Dia)) ++ ".erl"),
    case compile:file(Erl, [binary, return_errors, {i, OutDir}]) of
        {ok, Mod, Bin} ->
            {module, Mod} = code:load_binary(Mod, Erl, Bin);
        Error ->
            fail("compiling ~s: ~p", [Erl, Error])
    end.

fail(Fmt, Args) ->
    io:format(standard_error, Fmt ++ "~n", Args),
    halt(1).

out(Fmt, Args) ->
    io:format(Fmt ++ "~n", Args).

%% stdin read through a port of its own: a pending io:get_line would hold back what the
%% other processes print until the next line came.
loop() ->
    Port = open_port({fd, 0, 1}, [in, binary, {line, 4096}, eof]),
    loop(Port).

loop(Port) ->
    receive
        {Port, {data, {eol, Line}}} ->
            case string:lexemes(binary_to_list(Line), " ") of
                [] -> ok;
                [Id | Cmd] -> spawn(fun() -> run(Id, Cmd) end)
            end,
            loop(Port);
        {Port, {data, {noeol, _}}} ->
            loop(Port);
        {Port, eof} ->
            halt(0)
    end.

run(Id, Cmd) ->
    try cmd(Cmd) of
        Result -> out("~s ok ~s", [Id, Result])
    catch
        C:E:St -> out("~s error ~p:~0p ~0p", [Id, C, E, St])
    end.

svc(Name) -> list_to_atom(Name).

cmd(["service", Name, Kind, Host, Realm, Auth, Acct]) ->
    Dict = case Kind of
               "client" -> interop_cc_client;
               "server" -> interop_cc
           end,
    Ids = fun("-") -> []; (L) -> [list_to_integer(A) || A <- string:lexemes(L, ",")] end,
    AcctIds = Ids(Acct),
    App = fun(Alias, D, Extra) ->
              {application, [{alias, Alias}, {dictionary, D}, {module, ?MODULE} | Extra]}
          end,
    Opts = [{'Origin-Host', Host},
            {'Origin-Realm', Realm},
            {'Host-IP-Address', [{127, 0, 0, 1}]},
            {'Vendor-Id', 0},
            {'Product-Name', "OTP diameter interop peer"},
            {'Auth-Application-Id', Ids(Auth)},
            {'Acct-Application-Id', AcctIds},
            {decode_format, map},
            {string_decode, false},
            App(cc, Dict, [{answer_errors, callback}, {request_errors, answer}])]
        ++ [App(acct, diameter_gen_acct_rfc6733, []) || lists:member(3, AcctIds)],
    ok = diameter:start_service(svc(Name), Opts),
    ets:insert(interop_peer, {{identity, Name}, Host, Realm}),
    "started";
cmd(["listen", Name, Tag, Port, Tw]) ->
    transport(Name, Tag, listen, [{reuseaddr, true}, {ip, {127, 0, 0, 1}},
                                  {port, list_to_integer(Port)}], Tw);
cmd(["connect", Name, Tag, Port, Tw]) ->
    transport(Name, Tag, connect, [{ip, {127, 0, 0, 1}}, {raddr, {127, 0, 0, 1}},
                                   {rport, list_to_integer(Port)}], Tw);
cmd(["remove", Name, Tag]) ->
    [{_, Ref}] = ets:lookup(interop_peer, {transport, Name, Tag}),
    ok = diameter:remove_transport(svc(Name), Ref),
    "removed";
cmd(["info", Name]) ->
    io_lib:format("~0p", [diameter:service_info(svc(Name), [transport, connections, statistics])]);
cmd(["stop", Name]) ->
    ok = diameter:stop_service(svc(Name)),
    "stopped";
cmd(["ccr", Name, DestRealm, Number | Extra]) ->
    {Host, Realm} = identity(Name),
    Unknown = [#diameter_avp{code = ?UNKNOWN_AVP, is_mandatory = true,
                             data = <<0, 0, 0, 42>>}
               || "mbit" <- Extra],
    Req = ['CCR', {'Session-Id', diameter:session_id(Host)},
           {'Origin-Host', Host},
           {'Origin-Realm', Realm},
           {'Destination-Realm', DestRealm},
           {'Auth-Application-Id', 4},
           {'Service-Context-Id', "interop@erlang.test"},
           {'CC-Request-Type', 1},
           {'CC-Request-Number', list_to_integer(Number)},
           {'Subscription-Id', [#{'Subscription-Id-Type' => 1,
                                  'Subscription-Id-Data' => "001010123456789"}]},
           {'Requested-Service-Unit', #{'CC-Total-Octets' => 1048576}},
           {'AVP', Unknown}],
    call(Name, Req);
cmd(["xxr", Name, DestRealm]) ->
    {Host, Realm} = identity(Name),
    Req = ['XXR', {'Session-Id', diameter:session_id(Host)},
           {'Origin-Host', Host},
           {'Origin-Realm', Realm},
           {'Destination-Realm', DestRealm},
           {'Auth-Application-Id', 4}],
    call(Name, Req).

identity(Name) ->
    [{_, Host, Realm}] = ets:lookup(interop_peer, {identity, Name}),
    {Host, Realm}.

transport(Name, Tag, Type, Config, Tw) ->
    Opts = [{transport_module, diameter_tcp},
            {transport_config, Config},
            {watchdog_timer, {?MODULE, tw, [list_to_integer(Tw)]}},
            {connect_timer, 3000}],
    {ok, Ref} = diameter:add_transport(svc(Name), {Type, Opts}),
    ets:insert(interop_peer, {{transport, Name, Tag}, Ref}),
    "added".

%% Tw as given, without the ±2 s jitter diameter adds to an integer (which must be at
%% least 6000 ms): the tests want a DWR within a second or two.
tw(Ms) -> Ms.

call(Name, Req) ->
    case diameter:call(svc(Name), cc, Req, [{timeout, 5000}]) of
        {ok, Pkt} -> describe(Pkt);
        {error, Reason} -> io_lib:format("call-error ~0p", [Reason]);
        Other -> io_lib:format("call-error ~0p", [Other])
    end.

%% "answer CCA flags=P- rc=2001 origin=H failed=[CODE,...] errors=[...] route-record=[...]"
describe(#diameter_packet{header = H, msg = [Name | M], errors = Errors}) ->
    #diameter_header{is_proxiable = P, is_error = E} = H,
    Flags = [$P || P] ++ [$E || E],
    Failed = [C || #{'AVP' := Avps} <- maps:get('Failed-AVP', M, []),
                   #diameter_avp{code = C} <- Avps],
    Gsu = case maps:get('Granted-Service-Unit', M, []) of
              [#{'CC-Total-Octets' := [T]}] -> integer_to_list(T);
              #{'CC-Total-Octets' := [T]} -> integer_to_list(T);
              #{'CC-Total-Octets' := T} when is_integer(T) -> integer_to_list(T);
              Other -> io_lib:format("~0p", [Other])
          end,
    io_lib:format("answer ~s flags=~s rc=~s origin=~s failed=~w errors=~s "
                  "route-record=~s granted=~s",
                  [Name, Flags, one(maps:get('Result-Code', M, [])),
                   one(maps:get('Origin-Host', M, [])), Failed, errors(Errors),
                   list(maps:get('Route-Record', M, [])), Gsu]).

one([V]) -> one(V);
one([]) -> "none";
one(V) when is_integer(V) -> integer_to_list(V);
one(V) when is_binary(V) -> V;
one(V) -> io_lib:format("~0p", [V]).

list(Vs) -> ["[", lists:join(",", [one(V) || V <- Vs]), "]"].

%% Decode errors: [{ResultCode, AVP code}] or whatever diameter gave.
errors(Errors) ->
    io_lib:format("~0p", [[error_term(E) || E <- Errors]]).

error_term({RC, #diameter_avp{code = C}}) -> {RC, C};
error_term(E) -> E.

%% diameter_app callbacks.

peer_up(Svc, {_Ref, Caps}, State) ->
    #diameter_caps{origin_host = {_, OH}, product_name = {_, PN},
                   auth_application_id = {Local, Remote},
                   acct_application_id = {LocalAcct, RemoteAcct}} = Caps,
    out("event up ~s peer=~s product=~s local-apps=~w/~w peer-apps=~w/~w",
        [Svc, OH, PN, Local, LocalAcct, Remote, RemoteAcct]),
    State.

peer_down(Svc, {_Ref, Caps}, State) ->
    #diameter_caps{origin_host = {_, OH}} = Caps,
    out("event down ~s peer=~s", [Svc, OH]),
    State.

pick_peer([Peer | _], _, _Svc, _State) -> {ok, Peer};
pick_peer([], _, _Svc, _State) -> false.

prepare_request(Pkt, _Svc, _Peer) -> {send, Pkt}.

prepare_retransmit(Pkt, _Svc, _Peer) -> {send, Pkt}.

handle_answer(Pkt, _Req, _Svc, _Peer) -> {ok, Pkt}.

handle_error(Reason, _Req, _Svc, _Peer) -> {error, Reason}.

%% A CCR: 2001 with the units asked for, and an event line naming its Route-Record.
handle_request(#diameter_packet{msg = ['CCR' | M], errors = Errors}, Svc, {_, Caps}) ->
    #diameter_caps{origin_host = {OH, _}, origin_realm = {OR, _}} = Caps,
    Origin = maps:get('Origin-Host', M),
    out("event request ~s CCR from ~s number ~w route-record=~s errors=~s",
        [Svc, Origin, maps:get('CC-Request-Number', M), list(maps:get('Route-Record', M, [])),
         errors(Errors)]),
    %% With decode errors (an unknown AVP with the M bit: 5001), diameter itself puts the
    %% Result-Code and Failed-AVP of the errors in the answer, whatever the reply says.
    Grant = [{'Granted-Service-Unit', #{'CC-Total-Octets' => 1048576}} || Errors == []],
    {reply, ['CCA', {'Session-Id', maps:get('Session-Id', M)},
             {'Result-Code', 2001},
             {'Origin-Host', OH},
             {'Origin-Realm', OR},
             {'Auth-Application-Id', 4},
             {'CC-Request-Type', maps:get('CC-Request-Type', M)},
             {'CC-Request-Number', maps:get('CC-Request-Number', M)}
             | Grant]};
handle_request(#diameter_packet{msg = Msg}, Svc, _Peer) ->
    out("event request ~s unexpected ~0p", [Svc, Msg]),
    {protocol_error, 3001}.

# The handler of the bash runtime (bootstrap sources it; _HANDLER is
# function.handler). Its behaviour is chosen by the event, as the Go sample
# function's is: {"Success": false} fails, {"Timeout": true} sleeps past
# the deadline, {"Crash": true} kills the runtime, anything else succeeds.
function handler () {
  EVENT_DATA=$1
  case "$EVENT_DATA" in
  *'"Crash"'*)
    # The handler runs in a subshell, where exit would end only that: end
    # the runtime's own process, as a crash does.
    kill -KILL $$ ;;
  *'"Timeout"'*)
    sleep 60 ;;
  *'"Success": false'* | *'"Success":false'*)
    echo '{"errorMessage":"the event asked for a failure","errorType":"HandlerError"}'
    return 1 ;;
  esac
  RESPONSE='{"ok":true,"runtime":"bash"}'
  echo $RESPONSE
}

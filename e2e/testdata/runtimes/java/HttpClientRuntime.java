// A custom runtime on java.net.http.HttpClient, one source file with no
// dependencies (the tests compile it with javac; java HttpClientRuntime.java
// runs it too), which keeps its connections to the Runtime API in a pool.
// The client is on its defaults but for the proxy, as a user writes it: its
// requests ask for HTTP/2 by an h2c upgrade (Upgrade: h2c, HTTP2-Settings),
// which the Runtime API ignores. Its behaviour is chosen by the event, as
// the Go sample function's is: {"Success": false} fails, {"Timeout": true}
// sleeps past the deadline, {"Crash": true} exits, anything else succeeds.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

public class HttpClientRuntime {
    public static void main(String[] args) throws Exception {
        String base = "http://" + System.getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/";
        HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
        while (true) {
            HttpResponse<String> next = client.send(HttpRequest.newBuilder(URI.create(base + "next")).build(),
                    HttpResponse.BodyHandlers.ofString());
            String id = next.headers().firstValue("Lambda-Runtime-Aws-Request-Id").orElseThrow();
            String event = next.body().replace(" ", "");
            String path = "/response";
            String body = "{\"ok\":true,\"runtime\":\"java\"}";
            HttpRequest.Builder post = HttpRequest.newBuilder().header("Content-Type", "application/json");
            if (event.contains("\"Crash\":true")) {
                System.exit(3);
            } else if (event.contains("\"Timeout\":true")) {
                Thread.sleep(60_000);
            } else if (event.contains("\"Success\":false")) {
                path = "/error";
                body = "{\"errorMessage\":\"the event asked for a failure\",\"errorType\":\"HandlerError\"}";
                post.header("Lambda-Runtime-Function-Error-Type", "HandlerError");
            }
            HttpResponse<String> answer = client.send(
                    post.uri(URI.create(base + id + path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() != 202) {
                System.err.println("runtime: " + path + " refused: " + answer.statusCode() + " " + answer.body());
            }
        }
    }
}
